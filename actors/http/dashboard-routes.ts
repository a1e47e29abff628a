/** Placeholder until the dashboard lands. */
import { Elysia } from "elysia";

export function dashboardRoutes() {
  return new Elysia({ name: "dashboard" });
}
