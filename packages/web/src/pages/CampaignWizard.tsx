/** Placeholder: this page is being built. */
export default function CampaignWizard() {
  return (
    <section className="page">
      <h1>New campaign</h1>
    </section>
  );
}
