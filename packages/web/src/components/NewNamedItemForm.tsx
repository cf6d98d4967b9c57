/**
 * The "new item" card of a list page: a name (required, at most 200 characters), any extra fields the
 * page needs, and a button that makes the item and opens it. The server's errors appear next to the
 * field they concern, or above the form when they concern none.
 */
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useId, useState } from "react";
import { useLocation } from "wouter";
import { errorsFrom, Field, type FieldErrors } from "./Field.tsx";
import { Alert } from "./feedback.tsx";

const NAME_MAX = 200;

interface NewNamedItemFormProps<K extends string> {
  /** The card's heading, e.g. "New template". */
  title: string;
  /** The name field's label; "Name" unless told. */
  nameLabel?: string;
  nameHint?: ReactNode;
  namePlaceholder?: string;
  /** The submit button's text, and its text while the item is being made. */
  submitLabel: string;
  pendingLabel?: string;
  /** Fields other than the name whose server errors belong next to them (the page renders them). */
  extraFields?: readonly K[];
  /** The extra fields, with their own state kept by the page; given the errors to show beside them. */
  children?: (errors: FieldErrors<K>) => ReactNode;
  /** Makes the item from the trimmed name. */
  create: (name: string) => Promise<{ id: string }>;
  /** Where to go once the item exists, e.g. `(id) => \`/templates/${id}\``. */
  hrefOf: (id: string) => string;
  sectionClassName?: string;
  formClassName?: string;
}

export function NewNamedItemForm<K extends string = never>({
  title,
  nameLabel = "Name",
  nameHint,
  namePlaceholder,
  submitLabel,
  pendingLabel = "Making…",
  extraFields = [],
  children,
  create,
  hrefOf,
  sectionClassName = "card",
  formClassName = "invite-form",
}: NewNamedItemFormProps<K>) {
  const [, navigate] = useLocation();
  const headingId = useId();
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<FieldErrors<K | "name">>({});
  const make = useMutation({
    mutationFn: () => create(name.trim()),
    onSuccess: (item) => navigate(hrefOf(item.id)),
    onError: (error) => setErrors(errorsFrom<K | "name">(error, ["name", ...extraFields])),
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    const nameError = nameProblem(name.trim());
    // A generic key set is beyond TypeScript's inference here; the object has only `name`.
    setErrors(nameError ? ({ name: nameError } as FieldErrors<K | "name">) : {});
    if (!nameError) make.mutate();
  }
  return (
    <section className={sectionClassName} aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      <form onSubmit={submit} noValidate className={formClassName}>
        <Field
          label={nameLabel}
          value={name}
          onChange={setName}
          error={errors.name}
          autoComplete="off"
          hint={nameHint}
          placeholder={namePlaceholder}
        />
        {children?.(errors as FieldErrors<K>)}
        <button type="submit" className="button primary" disabled={make.isPending}>
          {make.isPending ? pendingLabel : submitLabel}
        </button>
      </form>
      {errors.form ? <Alert>{errors.form}</Alert> : null}
    </section>
  );
}

function nameProblem(trimmed: string): string | undefined {
  if (!trimmed) return "Give it a name.";
  return trimmed.length > NAME_MAX ? `At most ${NAME_MAX} characters.` : undefined;
}
