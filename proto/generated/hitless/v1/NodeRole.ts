// Original file: hitless/v1/node_ca.proto

export const NodeRole = {
  NODE_ROLE_UNSPECIFIED: 'NODE_ROLE_UNSPECIFIED',
  NODE_ROLE_WORKER: 'NODE_ROLE_WORKER',
  NODE_ROLE_MANAGER: 'NODE_ROLE_MANAGER',
} as const;

export type NodeRole =
  | 'NODE_ROLE_UNSPECIFIED'
  | 0
  | 'NODE_ROLE_WORKER'
  | 1
  | 'NODE_ROLE_MANAGER'
  | 2

export type NodeRole__Output = typeof NodeRole[keyof typeof NodeRole]
