/**
 * The platform image is built for real from the Dockerfile as it is (npm run
 * test:image; .ci/run runs it), and ships what runs and nothing else.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadCompose, readEnvFile } from '../support/compose-file';
import { baseImages, buildImage, DOCKERFILE, ensureStandinBase, imageToolsMissing, mebibytesOf } from '../support/image';
import { mountContainer, Teardown } from '../support/rehearsal';

const env = readEnvFile();
const TAG = env.PLATFORM_IMAGE!;
const FIXTURES = path.join(__dirname, '..', '..', 'image', 'fixtures');

describe('the platform image', { concurrency: false }, () => {
  const missing = imageToolsMissing();
  if (missing) {
    process.stderr.write(`\n*** SKIPPED: the platform image was NOT built: ${missing} ***\n\n`);
    it('needs podman, debootstrap and root', { skip: missing }, () => undefined);
    return;
  }

  const teardown = new Teardown();
  let root: string;
  after(async () => assert.deepEqual(await teardown.close(), []));

  before(async () => {
    for (const base of baseImages(DOCKERFILE)) {
      const made = await ensureStandinBase(base);
      process.stdout.write(`# ${made.output.trim().split('\n').pop()} (${made.seconds.toFixed(0)} s)\n`);
    }
  });

  it('builds from the Dockerfile as it is', async () => {
    const build = await buildImage(DOCKERFILE, TAG);
    assert.equal(build.code, 0, `podman build failed:\n${build.output.slice(-8000)}`);
    process.stdout.write(`# podman build of ${TAG}: ${build.seconds.toFixed(0)} s, image size ${mebibytesOf(build.sizeBytes)}\n`);
    root = mountContainer(TAG, `platform-image-test-${process.pid}`, teardown);
    assert.ok(existsSync(root), 'the image can be mounted');
  });

  it('ships the runtime workspaces only, without sources, tests or dangling links', () => {
    const app = path.join(root, 'app');
    const manifest = JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8')) as { workspaces: string[] };
    assert.deepEqual(manifest.workspaces.sort(), [
      'packages/contracts',
      'packages/service-kit',
      'packages/telemetry',
      'scripts/traffic',
      'services/order',
      'services/user',
      'web',
    ]);
    assert.ok(existsSync(path.join(app, 'web/dist/page/index.html')), 'the storefront page is built into the image');
    for (const workspace of manifest.workspaces) {
      const files = readdirSync(path.join(app, workspace));
      for (const absent of ['src', 'gen', 'test', 'tsconfig.json'])
        assert.ok(!files.includes(absent), `${workspace}/${absent} is in the image`);
      assert.ok(!existsSync(path.join(app, workspace, 'dist', 'test')), `${workspace}/dist/test is in the image`);
    }
    for (const absent of ['bench', 'compose', 'dashboards', 'deploy', 'observability', 'packages/testing', 'proto'])
      assert.ok(!existsSync(path.join(app, absent)), `${absent} is in the image`);
    const dangling = symbolicLinks(path.join(app, 'node_modules')).filter((link) => !existsSync(link));
    assert.deepEqual(
      dangling.map((link) => path.relative(app, link)),
      [],
      'links that lead nowhere',
    );
    // Build tools are not production dependencies.
    for (const tool of ['typescript', '@bufbuild/buf', 'eslint', 'testcontainers'])
      assert.ok(!existsSync(path.join(app, 'node_modules', tool)), `${tool} is in the image`);
  });

  it('leaves the code read-only to the user the image runs as', () => {
    const main = path.join(root, 'app/services/user/dist/src/main.js');
    assert.equal(statSync(main).uid, 0, 'owned by root');
    assert.equal(statSync(main).mode & 0o022, 0, 'writable by its owner only');
  });

  it('holds every script a Compose command and healthcheck of the platform image runs', () => {
    const { model } = loadCompose(env);
    for (const [name, service] of Object.entries(model.services).filter(([, definition]) => definition.image === TAG)) {
      const words = [...(service.command ?? []), ...(Array.isArray(service.healthcheck?.test) ? service.healthcheck.test : [])];
      for (const script of words.filter((word) => /\.m?js$/.test(word))) {
        const inImage = path.isAbsolute(script) ? path.join(root, script) : path.join(root, 'app', script);
        const mounted = (service.volumes ?? []).some((volume) => script.startsWith(`${volume.split(':')[1]}/`));
        assert.ok(mounted || existsSync(inImage), `${name}: ${script} is not in the image`);
      }
    }
  });

  it('fails to build when a workspace is left out of the install: the Dockerfile before this test existed', async () => {
    const build = await buildImage(path.join(FIXTURES, 'Dockerfile.missing-workspaces'), `${TAG}-missing-workspaces`);
    teardown.add('podman rmi', () => spawnSync('podman', ['rmi', '--force', `${TAG}-missing-workspaces`]));
    assert.notEqual(build.code, 0, 'the defective Dockerfile built');
    assert.match(build.output, /TS2307: Cannot find module 'ajv/);
  });
});

/** Every symbolic link below a folder (a recursive listing does not follow them). */
function symbolicLinks(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isSymbolicLink())
    .map((entry) => path.join(entry.parentPath, entry.name));
}
