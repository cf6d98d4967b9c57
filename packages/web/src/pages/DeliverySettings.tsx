/** Placeholder: this page is being built. */
export default function DeliverySettings() {
  return (
    <section className="page">
      <h1>Quiet hours and frequency caps</h1>
    </section>
  );
}
