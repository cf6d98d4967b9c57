/** One-off statements on a server's maintenance database (create/drop database), on a short-lived client. */
import pg from "pg";

export async function adminQuery(serverUrl: string, statement: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await client.query(statement, params);
  } finally {
    await client.end();
  }
}
