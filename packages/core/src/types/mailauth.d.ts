/** The part of mailauth (no type declarations of its own) that tests use to verify DKIM signatures. */
declare module "mailauth/lib/dkim/verify.js" {
  export interface DkimResult {
    signingDomain: string;
    selector: string;
    status: { result: "pass" | "fail" | "neutral" | "none" | "temperror" | "permerror"; comment?: string };
  }
  export function dkimVerify(
    input: Buffer | string,
    options?: { resolver?: (name: string, type: string) => Promise<string[][]> },
  ): Promise<{ results: DkimResult[] }>;
}
