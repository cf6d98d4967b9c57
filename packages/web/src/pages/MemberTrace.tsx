/** Placeholder: this page is being built. */
export default function MemberTrace() {
  return (
    <section className="page">
      <h1>Member trace</h1>
    </section>
  );
}
