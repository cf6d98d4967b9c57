/** Placeholder: this page is being built. */
export default function Audiences() {
  return (
    <section className="page">
      <h1>Audiences</h1>
    </section>
  );
}
