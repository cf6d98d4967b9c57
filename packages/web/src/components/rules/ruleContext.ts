/**
 * What the rule builder's nodes share without threading props through the tree: the problems found in
 * the rule (by the path the server names, e.g. `definition.rules[1].condition.value`), and options of
 * the page hosting it. A page that has no provider gets the defaults: no problems, paths rooted at
 * `definition`, every kind of rule offered.
 */
import { createContext, useContext } from "react";

export interface RuleBuilderSettings {
  /** Problem per path, as the server's problem+json `errors` name them. */
  errors: Record<string, string>;
  /** The path of the root rule in those errors. */
  root: string;
  /** Offer "entering event" rules (journey conditions); segments refuse them. */
  allowEntryEvent: boolean;
  /** The audience being edited, left out of the "in another audience" picker. */
  currentAudienceId?: string | undefined;
}

export const RuleBuilderContext = createContext<RuleBuilderSettings>({
  errors: {},
  root: "definition",
  allowEntryEvent: true,
});

export function useRuleSettings(): RuleBuilderSettings {
  return useContext(RuleBuilderContext);
}

/** The problem at exactly `path`, or at any index below it (`values[2]`). */
export function useErrorAt(path: string): string | undefined {
  const { errors } = useRuleSettings();
  return errorAt(errors, path);
}

export function errorAt(errors: Record<string, string>, path: string): string | undefined {
  const found = Object.entries(errors)
    .filter(([key]) => key === path || (key.startsWith(`${path}[`) && !key.slice(path.length).includes(".")))
    .map(([key, message]) => (key === path ? message : `${key.slice(path.length)}: ${message}`));
  return found.length ? found.map(capitalise).join(" ") : undefined;
}

/** Problems below `path` whose next segment is not one of `shown` (so that nothing gets lost). */
export function otherErrors(
  errors: Record<string, string>,
  path: string,
  shown: readonly string[],
): string[] {
  return Object.entries(errors)
    .filter(([key]) => {
      if (!key.startsWith(`${path}.`)) return false;
      const next = key.slice(path.length + 1).split(/[.[]/)[0] ?? "";
      return !shown.includes(next);
    })
    .map(([key, message]) => `${key.slice(path.length + 1)}: ${message}`);
}

export function capitalise(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}
