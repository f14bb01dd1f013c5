/** Design documents are the ids in [`_design/`, `_design0`): `0` is the character after `/`. */
export const DESIGN_PREFIX = '_design/';
export const DESIGN_END = '_design0';
