import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { keysetPage, pgCode, type Page } from '@platform/service-kit';
import type { Pool } from 'pg';
import { emailTaken, type NewUser, type UserRecord, type UserRepository } from './user-repository';

/** The schema this repository expects, applied by openPostgres at start-up. */
export const USER_MIGRATIONS_DIR = path.resolve(__dirname, '../../../migrations');

interface UserRow {
  id: string;
  seq: string;
  email: string;
  display_name: string;
  create_time: Date;
}

const COLUMNS = 'id, seq, email, display_name, create_time';

export class PostgresUserRepository implements UserRepository {
  constructor(private readonly pool: Pool) {}

  async create(user: NewUser): Promise<UserRecord> {
    try {
      const { rows } = await this.pool.query<UserRow>(
        `INSERT INTO users (id, email, display_name) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
        [randomUUID(), user.email, user.displayName],
      );
      return toRecord(rows[0]!);
    } catch (error) {
      if (pgCode(error) === '23505') throw emailTaken(user.email);
      throw error;
    }
  }

  async get(id: string): Promise<UserRecord | undefined> {
    const { rows } = await this.pool.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async list(options: { limit: number; after?: string | undefined }): Promise<Page<UserRecord>> {
    const { rows } = await this.pool.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE seq > $1 ORDER BY seq LIMIT $2`, [
      options.after ?? '0',
      options.limit + 1,
    ]);
    return keysetPage(rows, options.limit, toRecord);
  }
}

function toRecord(row: UserRow): UserRecord {
  return { id: row.id, email: row.email, displayName: row.display_name, createTime: row.create_time };
}
