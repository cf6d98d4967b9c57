/** Placeholder: this page is being built. */
export default function Workflows() {
  return (
    <section className="page">
      <h1>Workflows</h1>
    </section>
  );
}
