/** Placeholder: this page is being built. */
export default function WorkflowEditor() {
  return (
    <section className="page">
      <h1>Workflow</h1>
    </section>
  );
}
