/** A call's direction in a table column: `orig` (a carrier to the trunk) or `term` (the trunk to a carrier). */
export const DIRECTION_SHORT = { origination: 'orig', termination: 'term' } as const;
