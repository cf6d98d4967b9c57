/** The signed-in frame: header (workspace, user menu, sign out) and the left navigation. */
import { type QueryClient, useMutation, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useEffect, useRef, useState } from "react";
import { Link, useLocation } from "wouter";
import { api, setCsrfToken } from "../api.ts";
import { ROLE_LABELS, useSession } from "../session.ts";

const NAV = [
  { href: "/", label: "Home", match: (path: string) => path === "/" },
  { href: "/contacts", label: "Contacts", match: (path: string) => path.startsWith("/contacts") },
  { href: "/audiences", label: "Audiences", match: (path: string) => path.startsWith("/audiences") },
  { href: "/templates", label: "Templates", match: (path: string) => path.startsWith("/templates") },
  { href: "/workflows", label: "Workflows", match: (path: string) => path.startsWith("/workflows") },
  { href: "/campaigns", label: "Campaigns", match: (path: string) => path.startsWith("/campaigns") },
  { href: "/reports", label: "Reports", match: (path: string) => path.startsWith("/reports") },
  { href: "/outbox", label: "Outbox", match: (path: string) => path.startsWith("/outbox") },
  {
    href: "/settings/sender",
    label: "Sender",
    match: (path: string) => path.startsWith("/settings/sender"),
    section: "Settings",
  },
  {
    href: "/settings/providers",
    label: "Providers",
    match: (path: string) => path.startsWith("/settings/providers"),
    section: "Settings",
  },
  {
    href: "/settings/delivery",
    label: "Quiet hours and caps",
    match: (path: string) => path.startsWith("/settings/delivery"),
    section: "Settings",
  },
  {
    href: "/settings/team",
    label: "Team",
    match: (path: string) => path.startsWith("/settings/team"),
    section: "Settings",
  },
  {
    href: "/settings/retention",
    label: "Retention",
    match: (path: string) => path.startsWith("/settings/retention"),
    section: "Settings",
  },
  {
    href: "/settings/api-keys",
    label: "API keys",
    match: (path: string) => path.startsWith("/settings/api-keys"),
    section: "Settings",
  },
  {
    href: "/settings/audit",
    label: "Audit log",
    match: (path: string) => path.startsWith("/settings/audit"),
    section: "Settings",
  },
  {
    href: "/settings/sso",
    label: "Single sign-on",
    match: (path: string) => path.startsWith("/settings/sso"),
    section: "Settings",
  },
];

/** Queries about the app itself rather than a workspace's data. */
const APP_QUERIES = new Set(["session", "setup", "invitation"]);

/** Forgets one workspace's data (and refetches what is on screen) when another becomes current. */
function resetWorkspaceData(queryClient: QueryClient) {
  queryClient.resetQueries({ predicate: (query) => !APP_QUERIES.has(String(query.queryKey[0])) });
}

export function Shell({ children }: { children: ReactNode }) {
  const session = useSession();
  const [location] = useLocation();
  const main = useRef<HTMLElement>(null);
  const shown = useRef(location);
  useEffect(() => {
    // Move focus to the page on navigation, as a full page load would (not on the first load).
    if (shown.current !== location) main.current?.focus();
    shown.current = location;
  }, [location]);

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          <span className="brand-mark" aria-hidden="true" /> Omneural
        </Link>
        <WorkspaceSwitcher />
        <UserMenu />
      </header>
      <nav className="sidenav" aria-label="Main">
        <ul>
          {NAV.map((item, index) => (
            <li key={item.href}>
              {item.section && NAV[index - 1]?.section !== item.section ? (
                <p className="nav-section">{item.section}</p>
              ) : null}
              <Link
                href={item.href}
                className={item.match(location) ? "nav-link active" : "nav-link"}
                aria-current={item.match(location) ? "page" : undefined}
              >
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
        <p className="nav-role">
          Signed in as <strong>{ROLE_LABELS[session.role]}</strong>
        </p>
      </nav>
      <main id="main" className="content" ref={main} tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

function WorkspaceSwitcher() {
  const session = useSession();
  const queryClient = useQueryClient();
  const switchTo = useMutation({
    mutationFn: api.switchWorkspace,
    onSuccess: (next) => {
      setCsrfToken(next.csrfToken);
      queryClient.setQueryData(["session"], next);
      resetWorkspaceData(queryClient);
    },
  });
  if (session.workspaces.length < 2) {
    return (
      <p className="workspace-name" title="Workspace">
        {session.workspace.name}
      </p>
    );
  }
  return (
    <label className="workspace-switcher">
      <span className="visually-hidden">Workspace</span>
      <select
        value={session.workspace.id}
        onChange={(event) => switchTo.mutate(event.target.value)}
        disabled={switchTo.isPending}
      >
        {session.workspaces.map((w) => (
          <option key={w.id} value={w.id}>
            {w.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function UserMenu() {
  const session = useSession();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  const [, navigate] = useLocation();
  const signOut = useMutation({
    mutationFn: api.signOut,
    onSettled: () => {
      setCsrfToken(undefined);
      queryClient.setQueryData(["session"], null);
      queryClient.removeQueries({ predicate: (query) => !APP_QUERIES.has(String(query.queryKey[0])) });
      navigate("/");
    },
  });
  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent | KeyboardEvent) => {
      if (
        event instanceof KeyboardEvent
          ? event.key === "Escape"
          : !menu.current?.contains(event.target as Node)
      ) {
        setOpen(false);
      }
    };
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", close);
    };
  }, [open]);

  return (
    <div className="user-menu" ref={menu}>
      <button
        type="button"
        className="user-button"
        aria-haspopup="true"
        aria-expanded={open}
        aria-controls="user-menu-panel"
        onClick={() => setOpen(!open)}
      >
        <span className="avatar" aria-hidden="true">
          {session.user.name.slice(0, 1).toUpperCase()}
        </span>
        <span className="user-name">{session.user.name}</span>
      </button>
      {open ? (
        <div className="user-menu-panel" id="user-menu-panel">
          <p className="user-menu-who">
            <strong>{session.user.name}</strong>
            <br />
            <span className="muted">{session.user.email}</span>
            <br />
            <span className="muted">
              {ROLE_LABELS[session.role]} of {session.workspace.name}
            </span>
          </p>
          <button type="button" className="button secondary full" onClick={() => signOut.mutate()}>
            Sign out
          </button>
        </div>
      ) : null}
    </div>
  );
}
