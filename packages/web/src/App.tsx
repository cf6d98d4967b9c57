/**
 * What to show: the invitation page for /invite/<token>; the first-run setup while no user exists;
 * sign-in without a session; otherwise the app shell and its pages (heavy ones loaded on demand).
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect } from "react";
import { Route, Switch, useRoute } from "wouter";
import { ApiError, api, setCsrfToken, whenSessionEnds } from "./api.ts";
import { Loading, PageError } from "./components/feedback.tsx";
import { Shell } from "./components/Shell.tsx";
import { AcceptInvitation } from "./pages/AcceptInvitation.tsx";
import { Home } from "./pages/Home.tsx";
import { NotFound } from "./pages/NotFound.tsx";
import { Setup } from "./pages/Setup.tsx";
import { SignIn } from "./pages/SignIn.tsx";
import { SessionContext } from "./session.ts";

const Contacts = lazy(() => import("./pages/Contacts.tsx"));
const ContactProfile = lazy(() => import("./pages/ContactProfile.tsx"));
const TeamSettings = lazy(() => import("./pages/TeamSettings.tsx"));
const RetentionSettings = lazy(() => import("./pages/RetentionSettings.tsx"));
const SsoSettings = lazy(() => import("./pages/SsoSettings.tsx"));
const ApiKeySettings = lazy(() => import("./pages/ApiKeySettings.tsx"));
const AuditLog = lazy(() => import("./pages/AuditLog.tsx"));
const SenderSettings = lazy(() => import("./pages/SenderSettings.tsx"));
const Outbox = lazy(() => import("./pages/Outbox.tsx"));
const Templates = lazy(() => import("./pages/Templates.tsx"));
const TemplateEditor = lazy(() => import("./pages/TemplateEditor.tsx"));
const Audiences = lazy(() => import("./pages/Audiences.tsx"));
const AudienceEditor = lazy(() => import("./pages/AudienceEditor.tsx"));
const Workflows = lazy(() => import("./pages/Workflows.tsx"));
const WorkflowEditor = lazy(() => import("./pages/WorkflowEditor.tsx"));
const Campaigns = lazy(() => import("./pages/Campaigns.tsx"));
const CampaignWizard = lazy(() => import("./pages/CampaignWizard.tsx"));
const CampaignDetail = lazy(() => import("./pages/CampaignDetail.tsx"));
const Reports = lazy(() => import("./pages/Reports.tsx"));
const CampaignReport = lazy(() => import("./pages/CampaignReport.tsx"));
const MemberTrace = lazy(() => import("./pages/MemberTrace.tsx"));
const ProviderSettings = lazy(() => import("./pages/ProviderSettings.tsx"));
const DeliverySettings = lazy(() => import("./pages/DeliverySettings.tsx"));

export function App() {
  const queryClient = useQueryClient();
  const [isInvite, params] = useRoute<{ token: string }>("/invite/:token");
  useEffect(() => {
    whenSessionEnds(() => {
      setCsrfToken(undefined);
      queryClient.setQueryData(["session"], null);
    });
  }, [queryClient]);

  const setup = useQuery({ queryKey: ["setup"], queryFn: api.setupStatus, enabled: !isInvite });
  const session = useQuery({
    queryKey: ["session"],
    queryFn: async () => {
      try {
        return await api.session();
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    enabled: isInvite || setup.data?.needsSetup === false,
  });
  setCsrfToken(session.data?.csrfToken);

  if (isInvite) return <AcceptInvitation token={params.token} />;
  if (setup.isPending) return <Loading label="Starting Omneural" />;
  if (setup.error) return <PageError error={setup.error} />;
  if (setup.data.needsSetup) return <Setup />;
  if (session.isPending) return <Loading label="Checking your session" />;
  if (session.error) return <PageError error={session.error} />;
  if (!session.data) return <SignIn />;

  return (
    <SessionContext.Provider value={session.data}>
      <Shell>
        <Suspense fallback={<Loading label="Loading the page" />}>
          <Switch>
            <Route path="/" component={Home} />
            <Route path="/contacts" component={Contacts} />
            <Route path="/contacts/:id">{(p) => <ContactProfile id={p.id} />}</Route>
            <Route path="/settings/team" component={TeamSettings} />
            <Route path="/settings/retention" component={RetentionSettings} />
            <Route path="/settings/sso" component={SsoSettings} />
            <Route path="/settings/api-keys" component={ApiKeySettings} />
            <Route path="/settings/audit" component={AuditLog} />
            <Route path="/settings/sender" component={SenderSettings} />
            <Route path="/outbox" component={Outbox} />
            <Route path="/templates" component={Templates} />
            <Route path="/templates/:id" component={TemplateEditor} />
            <Route path="/audiences" component={Audiences} />
            <Route path="/audiences/:id" component={AudienceEditor} />
            <Route path="/workflows" component={Workflows} />
            <Route path="/workflows/:id" component={WorkflowEditor} />
            <Route path="/campaigns" component={Campaigns} />
            <Route path="/campaigns/new" component={CampaignWizard} />
            <Route path="/campaigns/:id" component={CampaignDetail} />
            <Route path="/reports" component={Reports} />
            <Route path="/reports/:id" component={CampaignReport} />
            <Route path="/reports/:id/members/:contactId" component={MemberTrace} />
            <Route path="/settings/providers" component={ProviderSettings} />
            <Route path="/settings/delivery" component={DeliverySettings} />
            <Route component={NotFound} />
          </Switch>
        </Suspense>
      </Shell>
    </SessionContext.Provider>
  );
}
