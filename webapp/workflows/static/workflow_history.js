// While a run of the history is queued or running, ask for its status and reload the page
// once it has ended, so its outcome, summary and log appear. Without JavaScript the page
// shows the state as of its last reload.

const POLL_MS = 1500;

document.documentElement.classList.add("js");

async function follow(row) {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      const response = await fetch(row.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok && (await response.json()).finished) {
        window.location.reload();
        return;
      }
    } catch {
      // the server is busy or restarting: try again
    }
  }
}

const open = document.querySelector("tr[data-status-url]");
if (open) {
  follow(open);
}
