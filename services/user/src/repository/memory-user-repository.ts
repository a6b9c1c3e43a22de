import { randomUUID } from 'node:crypto';
import type { Page } from '@platform/service-kit';
import { emailTaken, type NewUser, type UserRecord, type UserRepository } from './user-repository';

/** For unit tests and for running without a database; nothing survives a restart. */
export class InMemoryUserRepository implements UserRepository {
  /** Position n (1-based, as in PostgreSQL's seq) is users[n - 1]. */
  private readonly users: UserRecord[] = [];
  private readonly byId = new Map<string, UserRecord>();
  private readonly emails = new Set<string>();

  async create(user: NewUser): Promise<UserRecord> {
    const emailKey = user.email.toLowerCase();
    if (this.emails.has(emailKey)) throw emailTaken(user.email);
    const record: UserRecord = { id: randomUUID(), ...user, createTime: new Date() };
    this.users.push(record);
    this.byId.set(record.id, record);
    this.emails.add(emailKey);
    return record;
  }

  async get(id: string): Promise<UserRecord | undefined> {
    return this.byId.get(id);
  }

  async list(options: { limit: number; after?: string | undefined }): Promise<Page<UserRecord>> {
    const start = Number(options.after ?? 0);
    const items = this.users.slice(start, start + options.limit);
    const end = start + items.length;
    return { items, positions: items.map((_, index) => String(start + index + 1)), ...(end < this.users.length && { next: String(end) }) };
  }
}
