// Copy buttons: <button data-copy="#element-id"> copies that element's text. The clipboard API
// needs script; everything else on the builder works without it.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const status = button.closest("section")?.querySelector(".copy-status");
  try {
    await navigator.clipboard.writeText(source.textContent);
    button.dataset.copied = "true";
    if (status) status.textContent = `${button.textContent.trim()}: copied.`;
  } catch {
    if (status) status.textContent = "Copying failed: select the text and copy it by hand.";
  }
});
