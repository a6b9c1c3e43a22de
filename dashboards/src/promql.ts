/** Label matchers from the template variables, plus any others: `{job=~"$job",grpc_method=~"$method"}`. */
export function selector(variables: ('job' | 'method' | 'instance')[], extra: string[] = []): string {
  const label = { job: 'job', method: 'grpc_method', instance: 'instance' } as const;
  return `{${[...variables.map((name) => `${label[name]}=~"$${name}"`), ...extra].join(',')}}`;
}

export function rate(metric: string, matchers: string, by?: string): string {
  const inner = `rate(${metric}${matchers}[$__rate_interval])`;
  return by ? `sum by (${by}) (${inner})` : `sum(${inner})`;
}

export function quantile(q: number, metric: string, matchers: string, by: string): string {
  return `histogram_quantile(${q}, sum by (${by}, le) (rate(${metric}_bucket${matchers}[$__rate_interval])))`;
}
