import { Code, ConnectError } from '@connectrpc/connect';
import { BadRequestSchema } from '@platform/contracts/google/rpc/error_details_pb';
import { OrderEventType, OrderStatus, type Order } from '@platform/contracts/order/v1/order_pb';
import { loadConfig, type StorefrontConfig } from './config';
import { createClients, traced, type Clients } from './rpc';
import { startTracing } from './tracing';

const config = await loadConfig();
startTracing(config);
const clients = createClients(config);

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`no ${selector} on the page`);
  return found;
}

/** A Kibana Discover link to the log lines of one trace. */
function logsUrl(settings: StorefrontConfig, traceId: string): string {
  const query = `(query:(language:kuery,query:'trace.id:"${traceId}"'))`;
  return `${settings.kibanaUrl}/app/discover#/?_g=(time:(from:now-1h,to:now))&_a=${encodeURIComponent(query)}`;
}

/** Adds a row to the call log: what was called, how it ended, and where to find its trace and logs. */
function logCall(name: string, traceId: string | undefined, error?: unknown): void {
  const row = element<HTMLTableSectionElement>('#calls').insertRow(0);
  row.dataset.call = name;
  row.insertCell().textContent = name;
  const status = row.insertCell();
  status.dataset.testid = 'status';
  if (error === undefined) {
    status.textContent = 'OK';
    status.className = 'ok';
  } else {
    const failure = ConnectError.from(error);
    status.textContent = `${Code[failure.code]}: ${failure.rawMessage}`;
    status.className = 'failed';
  }
  const trace = row.insertCell();
  const logs = row.insertCell();
  if (traceId === undefined) return;
  const traceLink = trace.appendChild(document.createElement('a'));
  traceLink.href = `${config.jaegerUrl}/trace/${traceId}`;
  traceLink.target = '_blank';
  traceLink.dataset.traceId = traceId;
  traceLink.appendChild(document.createElement('code')).textContent = traceId;
  const logsLink = logs.appendChild(document.createElement('a'));
  logsLink.href = logsUrl(config, traceId);
  logsLink.target = '_blank';
  logsLink.textContent = 'log lines';
}

/** Runs one call, logs it, and shows a validation error's field violations beside the form's fields. */
async function call<T>(
  name: string,
  form: HTMLFormElement | undefined,
  run: (options: ReturnType<typeof traced>['options']) => Promise<T>,
): Promise<T | undefined> {
  const { options, traceId } = traced();
  if (form) showViolations(form, []);
  try {
    const result = await run(options);
    logCall(name, traceId());
    return result;
  } catch (error) {
    logCall(name, traceId(), error);
    const failure = ConnectError.from(error);
    if (form && failure.code === Code.InvalidArgument) {
      showViolations(
        form,
        failure.findDetails(BadRequestSchema).flatMap((details) => details.fieldViolations),
      );
    }
    return undefined;
  }
}

function showViolations(form: HTMLFormElement, violations: readonly { field: string; description: string }[]): void {
  for (const input of form.querySelectorAll<HTMLInputElement>('input[data-field]')) input.removeAttribute('aria-invalid');
  for (const slot of form.querySelectorAll<HTMLElement>('[data-violation]')) slot.textContent = '';
  for (const { field, description } of violations) {
    const slot = form.querySelector<HTMLElement>(`[data-violation="${CSS.escape(field)}"]`);
    form.querySelector<HTMLInputElement>(`input[data-field="${CSS.escape(field)}"]`)?.setAttribute('aria-invalid', 'true');
    if (slot) slot.textContent = slot.textContent ? `${slot.textContent}; ${description}` : description;
  }
}

function formValues(form: HTMLFormElement): Record<string, string> {
  return Object.fromEntries([...new FormData(form)].map(([key, value]) => [key, String(value)]));
}

function formatCents(cents: bigint, currency: string): string {
  return `${(Number(cents) / 100).toFixed(2)} ${currency}`;
}

function wireUserForm({ users }: Clients): void {
  const form = element<HTMLFormElement>('#user-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { email = '', displayName = '' } = formValues(form);
    const user = await call('user.v1.UserService/CreateUser', form, (options) => users.createUser({ email, displayName }, options));
    if (user) element<HTMLInputElement>('#order-form input[name="userId"]').value = user.id;
  });
}

function wireOrderForm({ orders }: Clients): void {
  const form = element<HTMLFormElement>('#order-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const item = {
      sku: values.sku ?? '',
      quantity: Number(values.quantity),
      unitPriceCents: BigInt(Math.trunc(Number(values.unitPriceCents) || 0)),
    };
    // A request id per click: a retried call is not a second order.
    const request = { userId: values.userId ?? '', items: [item], currency: values.currency ?? '', requestId: crypto.randomUUID() };
    const order = await call('order.v1.OrderService/CreateOrder', form, (options) => orders.createOrder(request, options));
    if (order) await listOrders(clients);
  });
}

async function listOrders({ orders }: Clients): Promise<void> {
  const userId = element<HTMLInputElement>('#order-form input[name="userId"]').value;
  const listed = await call('order.v1.OrderService/ListOrders', undefined, (options) =>
    orders.listOrders({ userId, pageSize: 20 }, options),
  );
  if (!listed) return;
  const body = element<HTMLTableSectionElement>('#orders');
  body.replaceChildren();
  for (const order of listed.orders) showOrder(body.insertRow(), order);
}

function showOrder(row: HTMLTableRowElement, order: Order): void {
  row.dataset.orderId = order.id;
  row.insertCell().appendChild(document.createElement('code')).textContent = order.id.slice(0, 8);
  row.insertCell().textContent = formatCents(order.totalCents, order.currency);
  row.insertCell().textContent = OrderStatus[order.status].replace('ORDER_STATUS_', '').toLowerCase();
  const actions = row.insertCell();
  if (order.status !== OrderStatus.CREATED) return;
  const cancel = actions.appendChild(document.createElement('button'));
  cancel.type = 'button';
  cancel.textContent = 'Cancel';
  cancel.addEventListener('click', async () => {
    const cancelled = await call('order.v1.OrderService/CancelOrder', undefined, (options) =>
      clients.orders.cancelOrder({ id: order.id }, options),
    );
    if (cancelled) await listOrders(clients);
  });
}

/** WatchOrders over gRPC-Web: every order created or cancelled, as it happens; reconnects after a failure. */
async function watchOrders({ orders }: Clients): Promise<void> {
  const state = element('#watch-state');
  const events = element<HTMLOListElement>('#events');
  for (;;) {
    const { options } = traced();
    try {
      state.textContent = '(live)';
      for await (const event of orders.watchOrders({}, options)) {
        const item = document.createElement('li');
        const order = event.order;
        item.textContent = `${OrderEventType[event.type].replace('ORDER_EVENT_TYPE_', '').toLowerCase()} ${order?.id.slice(0, 8) ?? ''} ${order ? formatCents(order.totalCents, order.currency) : ''}`;
        events.prepend(item);
        while (events.children.length > 20) events.lastElementChild?.remove();
      }
    } catch (error) {
      state.textContent = `(reconnecting: ${Code[ConnectError.from(error).code]})`;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

wireUserForm(clients);
wireOrderForm(clients);
element('#list-orders').addEventListener('click', () => void listOrders(clients));
void watchOrders(clients);
document.body.dataset.ready = 'true';
