# Report figures and tables; `snakemake --report` collects them into one self-contained HTML file.
from workflow_scripts.planning.layout import REPORT_FILES
from workflow_scripts.planning.plan import report_inputs
from workflow_scripts.planning.specs.report import report_spec


rule report:
    input:
        **report_inputs(config),
    output:
        summary=report(REPORT_FILES["summary"], category="1. Summary", caption="../report/summary.rst"),
        protocol_table=report(REPORT_FILES["protocol_table"], category="1. Summary", caption="../report/protocol.rst"),
        domains_plot=report(REPORT_FILES["domains_plot"], category="4. Data", caption="../report/prompt_domains.rst"),
        token_lengths_plot=report(REPORT_FILES["token_lengths_plot"], category="4. Data", caption="../report/token_lengths.rst"),
        euroeval_table=report(REPORT_FILES["euroeval_table"], category="2. EuroEval", caption="../report/euroeval.rst"),
        euroeval_csv=report(REPORT_FILES["euroeval_csv"], category="2. EuroEval", caption="../report/euroeval_csv.rst"),
        held_out_table=report(REPORT_FILES["held_out_table"], category="2. EuroEval", caption="../report/held_out.rst"),
        baselines_table=report(REPORT_FILES["baselines_table"], category="2. EuroEval", caption="../report/baselines.rst"),
        arena_plot=report(REPORT_FILES["arena_plot"], category="3. m-ArenaHard", caption="../report/arena.rst"),
        arena_table=report(REPORT_FILES["arena_table"], category="3. m-ArenaHard", caption="../report/arena.rst"),
        adapter_arena_plot=report(
            REPORT_FILES["adapter_arena_plot"], category="3. m-ArenaHard", caption="../report/arena_adapters.rst"
        ),
        rewards_plot=report(REPORT_FILES["rewards_plot"], category="4. Data", caption="../report/rewards.rst"),
        reward_consistency_plot=report(
            REPORT_FILES["reward_consistency_plot"], category="4. Data", caption="../report/reward_consistency.rst"
        ),
        pair_languages_plot=report(
            REPORT_FILES["pair_languages_plot"], category="4. Data", caption="../report/pair_languages.rst"
        ),
        language_id_plot=report(REPORT_FILES["language_id_plot"], category="4. Data", caption="../report/language_id.rst"),
        language_id_table=report(REPORT_FILES["language_id_table"], category="4. Data", caption="../report/language_id.rst"),
        training_plot=report(REPORT_FILES["training_plot"], category="5. Training", caption="../report/training.rst"),
        checkpoint_curves_plot=report(
            REPORT_FILES["checkpoint_curves_plot"], category="5. Training", caption="../report/checkpoint_curves.rst"
        ),
        checkpoint_curves_csv=report(
            REPORT_FILES["checkpoint_curves_csv"], category="5. Training", caption="../report/checkpoint_curves.rst"
        ),
        adapter_arena_csv=report(
            REPORT_FILES["adapter_arena_csv"], category="3. m-ArenaHard", caption="../report/arena_adapters.rst"
        ),
        sweep_plot=report(REPORT_FILES["sweep_plot"], category="5. Training", caption="../report/rejection_sweep.rst"),
        sweep_csv=report(REPORT_FILES["sweep_csv"], category="5. Training", caption="../report/rejection_sweep.rst"),
        length_table=report(REPORT_FILES["length_table"], category="4. Data", caption="../report/length_bias.rst"),
        length_plot=report(REPORT_FILES["length_plot"], category="4. Data", caption="../report/length_bias.rst"),
        cost_table=report(REPORT_FILES["cost_table"], category="6. Cost", caption="../report/gpu_hours.rst"),
        cost_csv=report(REPORT_FILES["cost_csv"], category="6. Cost", caption="../report/gpu_hours.rst"),
        cost_plot=report(REPORT_FILES["cost_plot"], category="6. Cost", caption="../report/gpu_hours.rst"),
    log:
        "logs/report/report.log",
    resources:
        **job_resources("light"),
    params:
        spec=report_spec(
            config,
            Path(workflow.config_settings.configfiles[0]).name if workflow.config_settings.configfiles else "config.yaml",
        ).params(),
    script:
        "scripts/report.py"
