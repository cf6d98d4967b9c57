/** Placeholder: this page is being built. */
export default function AudienceEditor() {
  return (
    <section className="page">
      <h1>Audience</h1>
    </section>
  );
}
