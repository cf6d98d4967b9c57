/** Placeholder: this page is being built. */
export default function CampaignDetail() {
  return (
    <section className="page">
      <h1>Campaign</h1>
    </section>
  );
}
