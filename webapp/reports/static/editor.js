// The report editor: tabs, inserting placeholders, the sample-contact search and the live
// preview. Without JavaScript every section is visible and the "refresh preview" button
// posts the form into the preview frame; this module only makes that automatic.

const PREVIEW_DELAY_MS = 900;
const LOOKUP_DELAY_MS = 250;

function debounce(action, delay) {
  let timer = null;
  return (...args) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => action(...args), delay);
  };
}

function setUpTabs() {
  const tabList = document.querySelector("[data-tabs]");
  if (!tabList) return;
  const tabs = [...tabList.querySelectorAll("a[role=tab]")];
  const panels = tabs.map((tab) => document.querySelector(tab.getAttribute("href")));

  function show(index, focus = false) {
    tabs.forEach((tab, position) => {
      const selected = position === index;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (panels[position]) panels[position].hidden = !selected;
    });
    if (focus) tabs[index].focus();
  }

  tabs.forEach((tab, index) => {
    tab.addEventListener("click", (event) => {
      event.preventDefault();
      show(index);
      window.history.replaceState(null, "", tab.getAttribute("href"));
    });
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) show((index + step + tabs.length) % tabs.length, true);
    });
  });

  // Open the tab of the first field with an error, else the one in the address, else the first.
  const withError = panels.findIndex((panel) => panel && panel.querySelector(".has-error"));
  const fromHash = tabs.findIndex((tab) => tab.getAttribute("href") === window.location.hash);
  show(withError >= 0 ? withError : fromHash >= 0 ? fromHash : 0);
  // the address's #section picks the tab; it must not scroll the tabs out of sight
  window.addEventListener("load", () => window.scrollTo(0, 0), { once: true });
}

function setUpPlaceholders() {
  let target = document.getElementById("layout");
  for (const editor of document.querySelectorAll("textarea.code")) {
    editor.addEventListener("focus", () => {
      target = editor;
    });
  }
  for (const button of document.querySelectorAll("button.placeholder")) {
    button.addEventListener("click", () => {
      if (!target || target.disabled) return;
      const text = button.dataset.insert;
      const start = target.selectionStart;
      target.setRangeText(text, start, target.selectionEnd, "end");
      target.focus();
      target.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }
}

function setUpSampleLookup() {
  const input = document.getElementById("sample");
  const list = document.getElementById("sample-contacts");
  if (!input || !list || !input.dataset.lookup) return;
  const lookup = debounce(async () => {
    const text = input.value.trim();
    if (text.length < 2) return;
    const url = `${input.dataset.lookup}?q=${encodeURIComponent(text)}`;
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const contacts = await response.json();
    list.replaceChildren(
      ...contacts.map((contact) => {
        const option = document.createElement("option");
        option.value = contact.number;
        option.label = `${contact.name}${contact.city ? ", " + contact.city : ""}`;
        return option;
      }),
    );
  }, LOOKUP_DELAY_MS);
  input.addEventListener("input", lookup);
}

function selectLine(textarea, line) {
  const lines = textarea.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
  const end = start + (lines[line - 1] || "").length;
  textarea.focus();
  textarea.setSelectionRange(start, end);
  const lineHeight = textarea.scrollHeight / Math.max(lines.length, 1);
  textarea.scrollTop = Math.max(0, (line - 3) * lineHeight);
}

function setUpPreview() {
  const form = document.getElementById("report-form");
  const button = document.getElementById("preview-button");
  const frame = document.getElementById("preview-frame");
  const problem = document.getElementById("preview-problem");
  const state = document.getElementById("preview-state");
  const hint = document.getElementById("preview-hint");
  if (!frame) return;
  const texts = document.documentElement.lang === "de"
    ? { busy: "Wird erstellt …", ok: "Aktuell", failed: "Fehler", where: "Fehler in Zeile", go: "Zur Zeile" }
    : { busy: "Rendering …", ok: "Up to date", failed: "Error", where: "Error in line", go: "Go to line" };

  frame.addEventListener("load", () => {
    let error = null;
    try {
      error = frame.contentDocument && frame.contentDocument.getElementById("preview-error");
    } catch {
      error = null; // a PDF viewer's document may not be readable: then it is a PDF
    }
    if (frame.contentWindow && frame.contentWindow.location.href === "about:blank") return;
    hint.hidden = true;
    document.querySelectorAll(".field.preview-marked").forEach((field) => {
      field.classList.remove("has-error", "preview-marked");
    });
    if (!error) {
      problem.hidden = true;
      state.textContent = texts.ok;
      state.className = "badge badge-success";
      return;
    }
    const line = Number(error.dataset.line) || null;
    const field = error.dataset.field && document.getElementById(error.dataset.field);
    const label = field && document.querySelector(`label[for="${field.id}"]`);
    const text = document.createElement("span");
    // The message itself is in the frame below; this box says where, and jumps there.
    text.textContent = line
      ? `${texts.where} ${line}${label ? " · " + label.textContent : ""}`
      : texts.failed;
    problem.replaceChildren(text);
    if (field && line && field.tagName === "TEXTAREA") {
      // Never move the caret by itself: the user may be typing in that very field.
      const jump = document.createElement("button");
      jump.type = "button";
      jump.className = "button-link";
      jump.textContent = `${texts.go} ${line}`;
      jump.addEventListener("click", () => selectLine(field, line));
      problem.append(" ", jump);
    }
    problem.hidden = false;
    state.textContent = texts.failed;
    state.className = "badge badge-error";
    const wrapper = field && field.closest(".field");
    if (wrapper && !wrapper.classList.contains("has-error")) {
      wrapper.classList.add("has-error", "preview-marked");
    }
  });

  if (!form || !button) return;
  const refresh = debounce(() => {
    state.textContent = texts.busy;
    state.className = "badge badge-muted";
    form.requestSubmit(button);
  }, PREVIEW_DELAY_MS);
  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
  document.getElementById("sample")?.addEventListener("change", refresh);
  refresh();
}

setUpTabs();
setUpPlaceholders();
setUpSampleLookup();
setUpPreview();
