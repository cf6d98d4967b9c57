/** Placeholder: this page is being built. */
export default function Campaigns() {
  return (
    <section className="page">
      <h1>Campaigns</h1>
    </section>
  );
}
