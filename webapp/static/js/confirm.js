// Forms marked data-confirm="question" ask before they submit (deleting, requeueing, ...).
// Without JavaScript they submit at once; destructive actions also have a confirmation page
// or a server-side check where it matters.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Checkboxes marked data-check-all="name" tick or clear every checkbox of that name.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.checkAll) return;
  for (const other of document.querySelectorAll(`input[type=checkbox][name="${box.dataset.checkAll}"]`)) {
    other.checked = box.checked;
  }
});
