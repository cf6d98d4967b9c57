/**
 * Runs the services inside one outer transaction. The services take a `Db` and open their own
 * transactions; Kysely refuses `transaction()` on a transaction. This wrapper of a transaction answers
 * `transaction()` with a savepoint instead, so every service call joins the outer transaction (and a
 * service's own failure rolls back only its part, as it would alone), and the caller commits or rolls
 * back the whole.
 */
import { sql } from "kysely";
import type { Db, Tx } from "../db/database.ts";

export function joinTransaction(trx: Tx): Db {
  let savepoints = 0;
  const joined: Db = new Proxy(trx, {
    get(target, property) {
      if (property === "transaction") {
        const builder = {
          setIsolationLevel: () => builder,
          setAccessMode: () => builder,
          async execute<T>(body: (inner: Db) => Promise<T>): Promise<T> {
            const name = sql.id(`joined_${++savepoints}`);
            await sql`savepoint ${name}`.execute(target);
            try {
              const result = await body(joined);
              await sql`release savepoint ${name}`.execute(target);
              return result;
            } catch (error) {
              await sql`rollback to savepoint ${name}`.execute(target);
              throw error;
            }
          },
        };
        return () => builder;
      }
      // Kysely keeps its state in private fields: methods must run on the transaction itself.
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as unknown as Db;
  return joined;
}
