CREATE TABLE `run_shapes` (
	`run_id` text PRIMARY KEY NOT NULL,
	`shape` text NOT NULL
);
--> statement-breakpoint
-- added to what drizzle-kit generated: the shapes already stored move with the column
INSERT INTO `run_shapes` (`run_id`, `shape`) SELECT `id`, `shape` FROM `runs` WHERE `shape` IS NOT NULL;
--> statement-breakpoint
ALTER TABLE `runs` DROP COLUMN `shape`;
