-- Push click rate by weekday x hour (toques_heatmap), weekday number 1 = Monday.

select
    tenant_id,
    canal,
    weekday,
    coalesce(
        weekday_num,
        array_position(
            array['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'], weekday
        )
    ) as weekday_num,
    hour,
    ctr
from {{ ref('stg_indigitall__toques_heatmap') }}
