import { field, pageSizeField, pageTokenField } from '@platform/service-kit';
import { z } from 'zod';

export const createUserRequest = z.object({
  email: z
    .string()
    .trim()
    .min(1, { error: 'is required' })
    .max(254, { error: 'must have at most 254 characters' })
    .pipe(z.email({ error: 'must be a valid email address' })),
  displayName: field.text({ min: 1, max: 100, trim: true }),
});

export const getUserRequest = z.object({ id: field.uuid() });

export const listUsersRequest = z.object({
  pageSize: pageSizeField(),
  pageToken: pageTokenField(),
});
