import { Link } from "wouter";

export function NotFound() {
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p>
        There is nothing here. <Link href="/">Go home</Link>.
      </p>
    </div>
  );
}
