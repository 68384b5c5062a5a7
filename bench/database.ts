/**
 * A fresh PostgreSQL database for one benchmark run, on the server `adminUrl` names, dropped afterwards:
 * a gateway the bench starts gets its own offline store, as a production gateway has PostgreSQL.
 */
import pg from 'pg';

export interface RunDatabase {
  /** The database's URL, for DATABASE_URL. */
  readonly url: string;
  /** Drops it (with its connections); failures are ignored, the name says what to drop by hand. */
  drop(): Promise<void>;
}

export async function runDatabase(adminUrl: string, prefix: string): Promise<RunDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
      await admin.end();
    },
  };
}
