/** Placeholder: this page is being built. */
export default function Reports() {
  return (
    <section className="page">
      <h1>Reports</h1>
    </section>
  );
}
