/** Binds a form control to one key of a draft: `<Field {...bind("name")} />` in place of value and onChange. */
export function binder<D>(draft: D, set: <K extends keyof D>(key: K, value: D[K]) => void) {
  return <K extends keyof D>(key: K) => ({ value: draft[key], onChange: (value: D[K]) => set(key, value) });
}
