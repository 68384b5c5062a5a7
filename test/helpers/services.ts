/** Connection settings of the real services integration tests use (npm test provides them). */

export function serviceUrl(name: 'DATABASE_URL' | 'REDIS_URL' | 'REDIS_CLUSTER_URL' | 'KAFKA_BROKERS'): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set: run the tests with \`npm test\` (which starts the services) or set it yourself`);
  }
  return value;
}

/** A name no other test run uses, for tables, keys and topics. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
