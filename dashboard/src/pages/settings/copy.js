// Copying text to the clipboard, with a fallback for browsers that refuse the async API.
import { html } from "../../lib/html.js";
import { Button, toast } from "../../lib/ui.js";

export async function copyText(text, what = "Copied") {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  toast(what, "ok");
}

export function CopyButton({ text, what, testid, label = "Copy" }) {
  return html`<${Button} kind="plain" testid=${testid}
    onClick=${() => copyText(text, what)}>${label}<//>`;
}
