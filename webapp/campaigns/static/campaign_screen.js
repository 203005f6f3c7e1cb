// Progressive enhancements of the campaign screen; every page works without them.
// - selects marked data-autosubmit submit their form, data-refresh press the form's
//   "apply" button (the server redraws the form without storing it);
// - progress bars with data-status-url follow the run through its JSON status.

const POLL_MS = 1500;

document.documentElement.classList.add("js");

function pressRefresh(select) {
  const button = select.closest(".inline-controls")?.querySelector('button[value="refresh"]');
  if (button) {
    button.click();
  }
}

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}
for (const select of document.querySelectorAll("select[data-refresh]")) {
  select.addEventListener("change", () => pressRefresh(select));
}

function formatNumber(value) {
  return new Intl.NumberFormat(document.documentElement.lang || "de").format(value);
}

function show(bar, status) {
  const progress = bar.querySelector("progress");
  const box = bar.querySelector(".progress");
  const known = status.percent >= 0;
  box.classList.toggle("is-indeterminate", !known);
  box.className = box.className.replace(/progress-[a-z_]+/g, "").trim() + ` progress-${status.state}`;
  progress.value = known ? status.percent : 0;
  if (known) {
    box.setAttribute("aria-valuenow", String(status.percent));
  }
  bar.querySelector('[data-field="percent"]').textContent = known ? `${status.percent} %` : "…";
  const summary = bar.closest("[data-run-summary]") || bar.closest("tr");
  if (!summary) {
    return;
  }
  for (const field of summary.querySelectorAll("[data-field]")) {
    const name = field.dataset.field;
    if (name === "state_label" || name === "state") {
      field.textContent = status.state_label;
      field.className = field.className.replace(/state-[a-z_]+/g, `state-${status.state}`);
    } else if (name in status && name !== "percent") {
      field.textContent = formatNumber(status[name]);
    }
  }
}

async function follow(bar) {
  const url = bar.dataset.statusUrl;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    let status;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) {
        continue;
      }
      status = await response.json();
    } catch {
      continue;
    }
    show(bar, status);
    if (!status.active) {
      bar.dataset.finished = "true";
      return;
    }
  }
}

const bars = [...document.querySelectorAll(".run-progress[data-status-url]")];
if (bars.length) {
  Promise.all(bars.map(follow)).then(() => {
    // the run is over: reload once to show its results, files and documents
    const note = document.querySelector("[data-live-note]");
    if (note) {
      note.hidden = true;
    }
    window.location.reload();
  });
}
