/** The few Plotly calls the dashboard makes (plotly.js-dist-min ships no types). */
declare module "plotly.js-dist-min" {
  type Data = Record<string, unknown>;
  type Layout = Record<string, unknown>;
  const Plotly: {
    newPlot(element: HTMLElement, data: Data[], layout?: Layout, config?: Layout): Promise<unknown>;
    react(element: HTMLElement, data: Data[], layout?: Layout, config?: Layout): Promise<unknown>;
  };
  export default Plotly;
}
