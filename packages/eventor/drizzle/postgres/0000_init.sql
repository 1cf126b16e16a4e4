CREATE TABLE "delays" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "delays_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"run_id" text NOT NULL,
	"recovery" integer NOT NULL,
	"assoc" text NOT NULL,
	"sequence" text NOT NULL,
	"due_at" bigint NOT NULL,
	"fired" integer DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "run_shapes" (
	"run_id" text PRIMARY KEY NOT NULL,
	"shape" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"mode" text NOT NULL,
	"recovery" integer DEFAULT 0 NOT NULL,
	"status" text NOT NULL,
	"started_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"ended_at" bigint,
	"lease_pid" integer,
	"lease_host" text,
	"lease_token" text,
	"lease_expires_at" bigint,
	"open_from" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"run_id" text NOT NULL,
	"ord" integer NOT NULL,
	"step" text NOT NULL,
	"sequence" text NOT NULL,
	"recovery" integer NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"result" text,
	"result_v8" "bytea",
	"error" text,
	"skipped" integer DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"child" text,
	CONSTRAINT "tasks_run_id_ord_pk" PRIMARY KEY("run_id","ord")
);
--> statement-breakpoint
CREATE TABLE "triggers" (
	"run_id" text NOT NULL,
	"recovery" integer NOT NULL,
	"sequence" text NOT NULL,
	"event" text NOT NULL,
	"ord" integer NOT NULL,
	"acted" integer DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"source_step" text,
	"source_sequence" text,
	CONSTRAINT "triggers_run_id_recovery_sequence_event_pk" PRIMARY KEY("run_id","recovery","sequence","event")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "delays_unique_idx" ON "delays" USING btree ("run_id","assoc","sequence","recovery");--> statement-breakpoint
CREATE INDEX "delays_pending_idx" ON "delays" USING btree ("run_id","recovery","fired","due_at");--> statement-breakpoint
CREATE INDEX "runs_started_idx" ON "runs" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "runs_name_started_idx" ON "runs" USING btree ("name","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_key_idx" ON "tasks" USING btree ("run_id","step","sequence","recovery");--> statement-breakpoint
CREATE INDEX "tasks_child_idx" ON "tasks" USING btree ("run_id") WHERE child IS NOT NULL;--> statement-breakpoint
CREATE INDEX "triggers_unacted_idx" ON "triggers" USING btree ("run_id","recovery") WHERE acted = 0;--> statement-breakpoint
CREATE INDEX "triggers_source_ord_idx" ON "triggers" USING btree ("run_id","source_step","source_sequence","recovery","ord") WHERE source_step IS NOT NULL;