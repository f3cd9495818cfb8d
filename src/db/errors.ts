/** Errors opening or checking the database (kept apart from index.ts: no Kysely needed to test for them). */
export class DatabaseError extends Error {}
