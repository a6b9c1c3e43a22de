import { AppError, type Page } from '@platform/service-kit';

export interface NewUser {
  email: string;
  displayName: string;
}

export interface UserRecord {
  id: string;
  email: string;
  displayName: string;
  createTime: Date;
}

/** Where users live. create() throws ALREADY_EXISTS for an email taken in any letter case. */
export interface UserRepository {
  create(user: NewUser): Promise<UserRecord>;
  get(id: string): Promise<UserRecord | undefined>;
  /** Users in creation order, after the given position. */
  list(options: { limit: number; after?: string | undefined }): Promise<Page<UserRecord>>;
}

export function emailTaken(email: string): AppError {
  return AppError.alreadyExists(`a user with email ${email} already exists`);
}
