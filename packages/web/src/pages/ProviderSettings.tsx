/** Placeholder: this page is being built. */
export default function ProviderSettings() {
  return (
    <section className="page">
      <h1>Providers</h1>
    </section>
  );
}
