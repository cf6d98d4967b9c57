/** Placeholder: this page is being built. */
export default function CampaignReport() {
  return (
    <section className="page">
      <h1>Campaign report</h1>
    </section>
  );
}
