/** A read-only value with a button that copies it (an invitation link, a new API key, a redirect URI). */
import { useId, useState } from "react";

export function CopyField({
  label,
  value,
  hideLabel = false,
  button = "Copy",
}: {
  label: string;
  value: string;
  /** The label for assistive technology only, when the text around says what the value is. */
  hideLabel?: boolean;
  /** The button's text before copying; say what it copies when a page has several. */
  button?: string;
}) {
  const id = useId();
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }
  return (
    <div className="field">
      <label htmlFor={id} className={hideLabel ? "visually-hidden" : undefined}>
        {label}
      </label>
      <div className="copy-row">
        <input id={id} readOnly value={value} onFocus={(event) => event.target.select()} />
        <button type="button" className="button secondary" onClick={copy}>
          {copied ? "Copied" : button}
        </button>
      </div>
    </div>
  );
}
