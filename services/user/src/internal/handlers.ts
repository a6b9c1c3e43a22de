import { trace } from '@opentelemetry/api';
import { AppError, fitPage, parseRequest, type PageTokens, type ServiceImplementation } from '@platform/service-kit';
import { User, type UserServiceService } from '@platform/contracts/user/v1/user';
import type { UserRepository } from '../repository';
import type { UserMetrics } from './metrics';
import { createUserRequest, getUserRequest, listUsersRequest } from './validation';

const LISTING = 'users';

export interface UserHandlerDependencies {
  users: UserRepository;
  metrics: UserMetrics;
  pageTokens: PageTokens;
  /** The server's send limit: a listing's page is cut to fit. */
  maxMessageBytes: number;
}

export function userServiceHandlers({
  users,
  metrics,
  pageTokens,
  maxMessageBytes,
}: UserHandlerDependencies): ServiceImplementation<typeof UserServiceService> {
  return {
    async createUser(request) {
      const user = await users.create(parseRequest(createUserRequest, request));
      trace.getActiveSpan()?.setAttribute('app.user.id', user.id);
      metrics.userCreated();
      return user;
    },

    async getUser(request) {
      const { id } = parseRequest(getUserRequest, request);
      trace.getActiveSpan()?.setAttribute('app.user.id', id);
      const user = await users.get(id);
      if (user === undefined) throw AppError.notFound(`user ${id} not found`);
      return user;
    },

    async listUsers(request) {
      const { pageSize, pageToken } = parseRequest(listUsersRequest, request);
      const listed = await users.list({ limit: pageSize, after: pageTokens.resume(pageToken, LISTING, '') });
      const page = fitPage(listed, (user) => User.encode(user).finish().length, maxMessageBytes);
      return {
        users: page.items,
        nextPageToken: page.next === undefined ? '' : pageTokens.encode({ listing: LISTING, scope: '', after: page.next }),
      };
    },
  };
}
