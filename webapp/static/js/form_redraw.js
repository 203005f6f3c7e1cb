// Forms that the server draws again when a choice changes what else they offer (a
// delivery's channel, a price's kind, an upload target): a select marked data-refresh
// presses its form's "apply" button (name="intent" value="refresh"). Without JavaScript
// the user presses that button; with it, the button is hidden (.js .js-hide).

document.documentElement.classList.add("js");

for (const select of document.querySelectorAll("select[data-refresh]")) {
  select.addEventListener("change", () => {
    const apply = select.form?.querySelector('button[name="intent"][value="refresh"]');
    if (apply) {
      select.form.requestSubmit(apply);
    }
  });
}
