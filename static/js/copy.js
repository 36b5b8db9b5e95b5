// Copy buttons: <button data-copy="#element-id" hidden> copies that element's text. They are
// shown only when this script runs, so a page without JavaScript has no dead buttons; the text
// stays selectable either way. Buttons that htmx swaps in are handled the same way.
function showCopyButtons(root) {
  for (const button of root.querySelectorAll("button[data-copy][hidden]")) button.hidden = false;
}

document.addEventListener("DOMContentLoaded", () => showCopyButtons(document));
document.addEventListener("htmx:load", (event) => showCopyButtons(event.target));

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  // A live region beside the buttons says what happened; without one, the button does.
  const status = button.closest("section")?.querySelector(".copy-status");
  const label = button.dataset.label || (button.dataset.label = button.textContent.trim());
  const say = (text) => {
    if (status) {
      status.textContent = text;
    } else {
      button.textContent = text;
      setTimeout(() => { button.textContent = label; }, 2000);
    }
  };
  try {
    await navigator.clipboard.writeText(source.textContent);
    button.dataset.copied = "true";
    say(status ? `${label}: copied.` : "Copied");
  } catch {
    window.getSelection().selectAllChildren(source);
    say(status ? "Copying failed: the text is selected; press Ctrl+C." : "Press Ctrl+C to copy");
  }
});
