// Progressive enhancement only: every page works without this file.
"use strict";

// On a phone, long side panels (filters) start folded so that results come first.
if (window.matchMedia("(max-width: 800px)").matches) {
  for (const box of document.querySelectorAll("details[data-collapse-narrow]")) box.open = false;
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});

// Drag and drop onto the upload form: dropped files join the file input, so the form
// posts them as if they had been chosen with it.
for (const form of document.querySelectorAll("form[data-dropzone]")) {
  const zone = form.querySelector(".dropzone");
  const input = form.querySelector("input[type=file]");
  const list = form.querySelector("[data-file-list]");
  const show = () => {
    list.replaceChildren(...Array.from(input.files, (file) => {
      const item = document.createElement("li");
      item.textContent = `${file.name} (${file.size.toLocaleString()} bytes)`;
      return item;
    }));
  };
  input.addEventListener("change", show);
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    zone.addEventListener(name, () => zone.classList.remove("over"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    const files = new DataTransfer();
    for (const file of input.files) files.items.add(file);
    for (const file of event.dataTransfer.files) files.items.add(file);
    input.files = files.files;
    show();
  });
}
