export { InMemoryUserRepository } from './memory-user-repository';
export { PostgresUserRepository, USER_MIGRATIONS_DIR } from './postgres-user-repository';
export type { NewUser, UserRecord, UserRepository } from './user-repository';
