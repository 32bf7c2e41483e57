/** flowsim's version, recorded in every trace (a run is a function of scenario, seed and version). */
export const FLOWSIM_VERSION = "0.1.0";
