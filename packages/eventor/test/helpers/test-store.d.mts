export type TestStoreKind = 'sqlite' | 'postgres';
/** The store kind of this test project. */
export const storeKind: TestStoreKind;
export const onPostgres: boolean;

export interface TestStore {
  /** The `store` option: a file path, or a postgres: URL naming a fresh schema. */
  readonly store: string;
  /** The store as messages and logs name it (a URL with its password hidden). */
  readonly location: string;
  /** Removes the store (the file goes with its folder; a schema is dropped). */
  drop(): Promise<void>;
}
export function freshStore(dir: string, name?: string): TestStore;
export function dropStore(store: string): Promise<void>;
